"""Kafka, Flink and Spark jobs. They import only ``quanta`` (enforced by import-linter)."""
