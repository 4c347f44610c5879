"""The job domain: submit, dispatch, run's writes, control, reads, events, sweeps."""
