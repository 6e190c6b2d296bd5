"""The kernel: intake, routing, context, events, the port, replies, buttons, commands, permissions, refusals, flows."""
