"""Operations: health, metrics, logging and redaction, the broker transport, operator commands."""
