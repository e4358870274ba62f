"""The durable run engine: workers, the step journal, wake-ups and rescue."""
