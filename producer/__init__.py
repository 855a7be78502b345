"""The platform's source: a simulated vehicle fleet and the Avro producer that sends its five streams to Kafka."""
