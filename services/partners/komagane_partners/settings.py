from pydantic import SecretStr

from komagane_kit.settings import ServiceSettings


class PartnersSettings(ServiceSettings):
    service_name: str = "partners"
    database_url: str = "sqlite:///./.data/partners.db"
    host: str = "127.0.0.1"
    port: int = 8107
    # Master secret the per-partner pseudonym keys are derived from (HMAC per partner and key id).
    # No default: the devstack generates one per data dir; production takes it from the secret store.
    partner_pseudonym_secret: SecretStr = SecretStr("")
    # The broker address partners are told to connect to (their page); empty: KAFKA_BOOTSTRAP_SERVERS.
    partner_bootstrap_servers: str = ""
    # How often deliveries are summed up into provision records.
    provision_record_seconds: float = 5.0
    # Partner feeds carry dates, not moments: a fetch may wait a quarter second to gather events,
    # so a steady stream is handled in a few large transactions rather than one per event.
    consumer_fetch_wait_ms: int = 250
    # How long a person-level event that came before the PARTNER consent it needs waits for that
    # consent (consent_waits.py): topics have no order between them, so it may be on its way.
    consent_grace_seconds: float = 600.0
