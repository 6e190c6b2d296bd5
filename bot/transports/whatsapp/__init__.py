"""The WhatsApp door: the Cloud API behind the core's port; `render` turns a Reply into WhatsApp's messages."""
