"""The marketplace service, made from templates/service by scripts/new_service.py."""
