"""The providers, one folder each, holding both directions with the same file names.

`<provider>/receive.py` turns the provider's inbound webhook into one `InboundMessage`,
`<provider>/send.py` turns one `workers.outbound.OutboundMessage` into the provider's
request (`build(settings)` makes the sender), `<provider>/status.py` turns its delivery
reports into `workers.outbound.DeliveryEvent`s, and `<provider>/settings.py` says what the
provider needs of the settings. A provider folder imports nothing of the gateway above
`gateway.channels` (checked in CI: `lint-imports`). Adding a provider is adding a folder
and a line in `registry.py`.
"""
