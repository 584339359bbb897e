"""Daily ETL pipeline and data warehouse for a city public credit information platform."""

from credit_warehouse.settings import quiet_tools

quiet_tools()

__version__ = "0.1.0"
