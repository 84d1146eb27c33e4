import Foundation

/// Ports for test servers that are stopped and started again on the same port (redis-server
/// restarts). Shared by GatewayEngineTests and GatewayServerTests (a symlink in the latter).
enum RestartablePort {
    /// A port below Linux's ephemeral range (32768–60999 by default), so no outgoing connection
    /// can be given it while the server is down, and free at the time of the pick. A random port
    /// up to 45000 lost such races under load: "redis-server did not start on port 39906".
    static func pick() -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 10_000..<32_768)
            if isFree(port) { return port }
        }
        return Int.random(in: 10_000..<32_768)  // the server's start then says which port failed
    }

    private static func isFree(_ port: Int) -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
