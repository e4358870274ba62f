"""Pure rules of agentdeck: states, transitions, retry policy and errors. No I/O."""
