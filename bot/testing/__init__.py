"""A fake GitHub and GitHub's published examples, shared by the demo and the tests."""
