// OPC UA server of a small process: a few tags that change every 100 ms.
const { OPCUAServer, Variant, DataType } = require("node-opcua");
(async () => {
  const server = new OPCUAServer({ port: 4840, resourcePath: "/UA/Plant", buildInfo: { productName: "PlantController" } });
  await server.initialize();
  const ns = server.engine.addressSpace.getOwnNamespace();
  const dev = ns.addObject({ organizedBy: server.engine.addressSpace.rootFolder.objects, browseName: "Line1" });
  let t = 20.0, p = 1.5, setpoint = 50.0;
  ns.addVariable({ componentOf: dev, nodeId: "ns=1;s=Temperature", browseName: "Temperature", dataType: "Double",
    value: { get: () => new Variant({ dataType: DataType.Double, value: t }) } });
  ns.addVariable({ componentOf: dev, nodeId: "ns=1;s=Pressure", browseName: "Pressure", dataType: "Double",
    value: { get: () => new Variant({ dataType: DataType.Double, value: p }) } });
  ns.addVariable({ componentOf: dev, nodeId: "ns=1;s=Setpoint", browseName: "Setpoint", dataType: "Double",
    value: { get: () => new Variant({ dataType: DataType.Double, value: setpoint }),
             set: (v) => { setpoint = v.value; return 0; } } });
  setInterval(() => { t += Math.sin(Date.now() / 1000) * 0.1; p += Math.cos(Date.now() / 700) * 0.01; }, 100);
  await server.start();
  console.log("server ready");
})();
