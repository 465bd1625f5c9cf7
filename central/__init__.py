"""The reference central receiver (``appliance-receiver``): enrolment, upload, receipts."""
