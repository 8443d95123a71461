int placeholder_broker_symbol = 0;
