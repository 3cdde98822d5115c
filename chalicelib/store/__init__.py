"""DynamoDB storage: pynamodb models and repository functions. The only DynamoDB code."""
