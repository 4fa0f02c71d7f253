"""The outcome and equity report: who was reached, who answered, who came in, by group of patients."""
