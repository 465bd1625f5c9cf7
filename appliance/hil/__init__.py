"""Hardware-in-the-loop rig: a device conformance suite (``appliance hil``).

Modelled on MOSIP's SBI compliance tests (discover, device info, capture,
quality, signature, key rotation) plus the failures a kiosk meets in the
field (timeouts, cancel, unplug/replug, stalled endpoints, corrupt frames,
access denied). The same checks run against the simulated reader, the real
U.are.U driver on the emulated USB device (``--simulated``) and real readers.

* :mod:`.model` - results, capabilities, the :class:`~.model.HilTarget` contract;
* :mod:`.targets` - the built-in targets and their providers;
* :mod:`.registry` - the provider table (add a device family here);
* :mod:`.checks` - the checks; :mod:`.runner` runs them; :mod:`.signing` is
  the ES256 JWS key ring the signature and rotation checks use.
"""
