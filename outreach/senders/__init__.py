"""A clinic's senders: the Twilio numbers and Messaging Services it texts from, and how they are paced."""
