"""Gold: resolved citizens and enterprises, golden records, aggregates and the quality scorecard."""
