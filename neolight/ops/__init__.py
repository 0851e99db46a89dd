"""Operations: what an operator watches and keeps (metrics, health, structured logs, backups)."""
