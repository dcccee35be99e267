"""Health service (健康づくり): health station, activity data, programmes and points — with consent and audit."""
