"""Mail senders behind the ``Mailer`` port: ``ConsoleMailer`` (dev) and ``LoopsMailer`` (production)."""
