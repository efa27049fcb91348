"""The learning_paths service, made from templates/service by scripts/new_service.py."""
