"""The JSON API, one router per area: runs, agents, system."""
