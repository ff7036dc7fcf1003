// The Node.js echo server of tcp_bench.ts: `net` with `socket.pipe(socket)`,
// Node's idiomatic echo (it applies backpressure). Prints `port <n>`.
import net from "node:net";

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {});
  socket.pipe(socket);
});
server.listen(0, "127.0.0.1", () => {
  console.log(`port ${server.address().port}`);
});
