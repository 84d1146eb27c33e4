// A youtube attachment carries a URL, not bytes. Accept only the link forms YouTube itself
// produces, parsed by hand so nothing like "youtube.com@evil.example" or "evil.example/?youtube.com"
// slips through a substring check.

enum YouTubeURL {
    static let maximumLength = 2048

    /// The video id when `text` is https?://(www.|m.)youtube.com/watch?v=ID (also /embed/ID,
    /// /shorts/ID) or https?://youtu.be/ID; nil otherwise.
    static func videoID(in text: String) -> String? {
        guard text.utf8.count <= maximumLength else { return nil }
        let lowered = text.lowercased()
        let schemeLength: Int
        if lowered.hasPrefix("https://") { schemeLength = 8 } else if lowered.hasPrefix("http://") { schemeLength = 7 } else { return nil }
        let rest = text.dropFirst(schemeLength)
        // Fragment first (it may contain anything), then the authority ends at the first / ? or end.
        let beforeFragment = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let authorityEnd = beforeFragment.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? beforeFragment.endIndex
        let host = beforeFragment[..<authorityEnd].lowercased()
        let pathAndQuery = beforeFragment[authorityEnd...]
        let parts = pathAndQuery.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? ""
        let query = parts.count > 1 ? String(parts[1]) : ""

        switch host {
        case "youtu.be", "www.youtu.be":
            return validID(String(path.dropFirst()))
        case "youtube.com", "www.youtube.com", "m.youtube.com":
            if path == "/watch" {
                for pair in query.split(separator: "&") where pair.hasPrefix("v=") {
                    return validID(String(pair.dropFirst(2)))
                }
                return nil
            }
            for prefix in ["/embed/", "/shorts/"] where path.hasPrefix(prefix) {
                return validID(String(path.dropFirst(prefix.count)))
            }
            return nil
        default:
            return nil
        }
    }

    /// YouTube video ids are 11 characters of [A-Za-z0-9_-].
    private static func validID(_ candidate: String) -> String? {
        guard candidate.utf8.count == 11 else { return nil }
        let allowed = candidate.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D
        }
        return allowed ? candidate : nil
    }
}
