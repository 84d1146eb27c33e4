// The browser pages the gateway serves: the chat page (/) and the admin console (/admin).
//
// They are plain HTML, CSS and JavaScript files in Assets/, edited as such; SwiftPM embeds each
// file's bytes into this module at build time (`.embedInCode` in Package.swift), so `gateway run`
// serves them wherever the binary is installed, with no resource folder to carry along and no
// build step of their own. A file added to Assets/ is served once it has a line in `byPath`.

/// One file to serve.
public struct WebAsset: Sendable {
    public let contentType: String
    public let bytes: [UInt8]
}

public enum WebAssets {
    /// URL path → file. The pages sit at the paths people type; their scripts and style under /ui/.
    public static let byPath: [String: WebAsset] = [
        "/": WebAsset(contentType: html, bytes: PackageResources.chat_html),
        "/admin": WebAsset(contentType: html, bytes: PackageResources.admin_html),
        "/ui/chat.js": WebAsset(contentType: javaScript, bytes: PackageResources.chat_js),
        "/ui/admin.js": WebAsset(contentType: javaScript, bytes: PackageResources.admin_js),
        "/ui/common.js": WebAsset(contentType: javaScript, bytes: PackageResources.common_js),
        "/ui/style.css": WebAsset(contentType: "text/css; charset=utf-8", bytes: PackageResources.style_css),
    ]

    private static let html = "text/html; charset=utf-8"
    private static let javaScript = "text/javascript; charset=utf-8"
}
