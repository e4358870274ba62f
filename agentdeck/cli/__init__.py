"""Terminal commands; they call the Deck, never SQL."""
