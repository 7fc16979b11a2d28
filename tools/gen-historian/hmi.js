// An HMI: reads the process values and writes a new setpoint.
const { OPCUAClient, AttributeIds, DataType, MessageSecurityMode, SecurityPolicy } = require("node-opcua");
(async () => {
  const client = OPCUAClient.create({ endpointMustExist: false, securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None, applicationName: "OperatorHMI" });
  await client.connect(process.argv[2]);
  const session = await client.createSession();
  for (let i = 0; i < 5; i++) {
    await session.read([{ nodeId: "ns=1;s=Temperature", attributeId: AttributeIds.Value },
      { nodeId: "ns=1;s=Setpoint", attributeId: AttributeIds.Value }]);
    await new Promise((r) => setTimeout(r, 300));
  }
  await session.write({ nodeId: "ns=1;s=Setpoint", attributeId: AttributeIds.Value,
    value: { value: { dataType: DataType.Double, value: 55.0 } } });
  await session.close();
  await client.disconnect();
})();
