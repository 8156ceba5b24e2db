"""Orders: records and views, the Buy path, fulfillment, webhook batches, history, reconcile."""
