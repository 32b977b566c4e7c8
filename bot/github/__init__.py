"""Everything that talks to GitHub's REST API: App authentication, the client, typed repository calls."""
