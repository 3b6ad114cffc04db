// A pod's only container when the pod exists to host a client: does nothing until it is stopped.
setInterval(() => undefined, 1 << 30);
process.once('SIGTERM', () => process.exit(0));
