import NIOHTTP1

/// Where a client's token can come from, in the order we look:
///   Authorization: Bearer <jwt>
///   Sec-WebSocket-Protocol: accessToken, <jwt>   (pyams_chat_ws clients; we answer "accessToken")
///   ?token=<jwt>
struct RequestCredentials {
    var token: String?
    /// True when the token came in the subprotocol pair: the upgrade must answer "accessToken".
    var viaSubprotocol = false

    init(head: HTTPRequestHead, query: [String: String]) {
        if let authorization = head.headers.first(name: "Authorization") {
            if authorization.hasPrefix("Bearer ") {  // the usual spelling: no split, no lowercasing
                token = String(authorization.dropFirst(7)).trimmingSpaces()
                return
            }
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                token = String(parts[1]).trimmingSpaces()
                return
            }
        }
        let protocols = head.headers[canonicalForm: "Sec-WebSocket-Protocol"].map { String($0).trimmingSpaces() }
        if let index = protocols.firstIndex(of: "accessToken"), index + 1 < protocols.count {
            token = protocols[index + 1]
            viaSubprotocol = true
            return
        }
        token = query["token"]
    }
}

extension String {
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view = view.dropFirst() }
        while view.last == " " || view.last == "\t" { view = view.dropLast() }
        return String(view)
    }
}

/// Splits "/path?a=1&b=2" into the path and its decoded query items (last one wins).
struct RequestTarget {
    let path: String
    let query: [String: String]

    init(_ uri: String) {
        guard uri.utf8.contains(UInt8(ascii: "?")) else {  // most requests: a bare path
            path = uri
            query = [:]
            return
        }
        let pieces = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(pieces.first ?? "")
        var query: [String: String] = [:]
        if pieces.count == 2 {
            for pair in pieces[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = Self.percentDecode(String(keyValue[0]))
                query[key] = keyValue.count == 2 ? Self.percentDecode(String(keyValue[1])) : ""
            }
        }
        self.query = query
    }

    static func percentDecode(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
