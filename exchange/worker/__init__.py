"""The outbox's consumers, run by ``flask --app app worker`` beside the web server: webhooks."""
