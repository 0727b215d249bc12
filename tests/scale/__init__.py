"""Scale, measured: many people through the app at once, every DynamoDB write recorded and judged."""
