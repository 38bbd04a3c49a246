"""Pages of the cards app: `issuing` (applications, batches, bank work) and `custody`
(handovers, pickup, the card's life at the counter, citizen self-service)."""
