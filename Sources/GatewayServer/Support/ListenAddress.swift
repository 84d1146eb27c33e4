import GatewayCore

enum ListenAddress {
    /// "127.0.0.1:8080", "[::1]:8080", "localhost:0".
    static func parse(_ text: String) throws(GatewayError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw GatewayError(code: "config.bad_listen", message: "listen must be HOST:PORT, got '\(text)'.", status: 400)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port), !host.isEmpty else {
            throw GatewayError(code: "config.bad_listen", message: "listen must be HOST:PORT with a port from 0 to 65535, got '\(text)'.", status: 400)
        }
        return (host, port)
    }
}
