"""ca-audit: audit Salesforce Connected Apps and External Client Apps."""

__version__ = "0.1.0"
