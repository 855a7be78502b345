"""The local stack: Kafka (KRaft), Apicurio Registry and a moto AWS endpoint as plain processes on 127.0.0.1."""
