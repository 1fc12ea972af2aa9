"""The API's routers: market data, backtests and strategies, the OAuth server, social sign-in, problem
types."""
