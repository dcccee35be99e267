"""The ごちゃまぜ index: entropy over age bands, dedup of redelivered attendance, suppression."""

from __future__ import annotations

from komagane_profiles.hubmix import SEEN_KEPT, SEEN_TRIM, add_attendance, mix_index, new_hub, summary


def test_mix_index_is_zero_for_one_band_and_one_for_all_bands_equal() -> None:
    assert mix_index({"75+": 12}) == 0.0
    assert mix_index({"0-17": 2, "18-39": 2, "40-64": 2, "65-74": 2, "75+": 2}) == 1.0
    assert 0 < mix_index({"0-17": 1, "75+": 9}) < mix_index({"0-17": 5, "75+": 5}) < 1


def test_monthly_summary_counts_each_attendance_once_and_suppresses_small_months() -> None:
    hub = new_hub("h")
    bands = ["0-17", "18-39", "75+", "75+", "65-74", "75+", "40-64", "75+", "0-17", "75+"]
    for i, band in enumerate(bands):
        session = "s1" if i < 5 else "s2"
        assert add_attendance(hub, attendance_id=f"a{i}", session_id=session, month="2026-11", age_band=band)
    assert not add_attendance(hub, attendance_id="a0", session_id="s1", month="2026-11", age_band="0-17")
    add_attendance(hub, attendance_id="b0", session_id="s3", month="2026-10", age_band="75+")

    months = summary(hub)["months"]
    november = months["2026-11"]
    assert (november["sessions"], november["attendances"], november["suppressed"]) == (2, 10, False)
    assert november["mixed_session_share"] == 1.0  # both sessions have at least three bands
    assert november["mix_index"] == mix_index({"0-17": 2, "18-39": 1, "40-64": 1, "65-74": 1, "75+": 5})
    assert months["2026-10"] == {
        "sessions": 1,
        "attendances": None,
        "mix_index": None,
        "mixed_session_share": None,
        "suppressed": True,
        "bands": {},
        "top_sessions": [],
    }


def test_a_hub_remembers_its_recent_attendance_ids_oldest_first_also_from_an_older_state() -> None:
    hub = new_hub("h")
    hub["seen"] = ["old-1", "old-2"]  # as a state stored before the ids were kept in a dict
    assert not add_attendance(hub, attendance_id="old-2", session_id="s", month="2026-11", age_band="75+")
    for i in range(SEEN_KEPT + SEEN_TRIM - 2):
        assert add_attendance(hub, attendance_id=f"a{i}", session_id="s", month="2026-11", age_band="75+")
    assert len(hub["seen"]) == SEEN_KEPT + SEEN_TRIM and not add_attendance(hub, attendance_id="old-1", session_id="s", month="2026-11", age_band="75+")
    assert add_attendance(hub, attendance_id="one-more", session_id="s", month="2026-11", age_band="75+")
    assert len(hub["seen"]) == SEEN_KEPT + 1, "the oldest SEEN_TRIM forgotten at once"
    assert "old-1" not in hub["seen"] and "a0" not in hub["seen"] and f"a{SEEN_TRIM - 2}" in hub["seen"]
    assert summary(hub)["months"]["2026-11"]["attendances"] == SEEN_KEPT + SEEN_TRIM - 1


def test_a_month_shows_its_generations_suppressing_small_cells_and_its_most_mixed_sessions() -> None:
    hub = new_hub("h")
    # s-mixed: four bands (12 attendances); s-two: two bands (3); s-one: one band (11).
    plan = {"s-mixed": ["0-17"] * 3 + ["18-39"] * 3 + ["65-74"] * 3 + ["75+"] * 3, "s-two": ["75+", "75+", "40-64"], "s-one": ["75+"] * 11}
    n = 0
    for session_id, bands in plan.items():
        for band in bands:
            add_attendance(hub, attendance_id=f"a{n}", session_id=session_id, month="2026-11", age_band=band)
            n += 1
    november = summary(hub)["months"]["2026-11"]
    assert november["bands"] == {"0-17": None, "18-39": None, "40-64": None, "65-74": None, "75+": 16}
    assert november["top_sessions"] == [
        {"session_id": "s-mixed", "bands_present": 4, "mix_index": mix_index({"0-17": 3, "18-39": 3, "65-74": 3, "75+": 3})},
        {"session_id": "s-two", "bands_present": 2, "mix_index": None},  # fewer than 10 there: no index
        {"session_id": "s-one", "bands_present": 1, "mix_index": 0.0},
    ]
