"""The tracking issue: the bot's block in its body, the state kept there, and what is rendered."""
