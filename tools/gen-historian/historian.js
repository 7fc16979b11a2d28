// A historian: subscribes to the process tags and records them; it never writes.
const { OPCUAClient, AttributeIds, TimestampsToReturn, MessageSecurityMode, SecurityPolicy } = require("node-opcua");
(async () => {
  const client = OPCUAClient.create({ endpointMustExist: false, securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None, applicationName: "PlantHistorian" });
  await client.connect(process.argv[2]);
  const session = await client.createSession();
  const sub = await session.createSubscription2({ requestedPublishingInterval: 200, requestedMaxKeepAliveCount: 10,
    publishingEnabled: true, priority: 1 });
  for (const id of ["ns=1;s=Temperature", "ns=1;s=Pressure"]) {
    const item = await sub.monitor({ nodeId: id, attributeId: AttributeIds.Value },
      { samplingInterval: 100, discardOldest: true, queueSize: 10 }, TimestampsToReturn.Both);
    item.on("changed", (v) => { /* stored */ });
  }
  await new Promise((r) => setTimeout(r, 3000));
  await sub.terminate();
  await session.close();
  await client.disconnect();
})();
