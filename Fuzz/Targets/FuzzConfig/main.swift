// libFuzzer target: any bytes as gateway.conf (scripts/fuzz.sh FuzzConfig).
//
// Drives what `gateway run` does with its config file: the UTF-8 check of ConfigLoader.load,
// then ConfigLoader.parse (the TOML parser and every declarative table of GatewayCore/Config).
// The promise checked: a config, or at least one error with a stable code and a line — never a
// crash, a hang or a silent failure.
@testable import GatewayCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    // ConfigLoader.load refuses a file that is not UTF-8 before parsing: the same here.
    guard text.utf8.elementsEqual(bytes) else { return 0 }
    let lineCount = text.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }

    switch ConfigLoader.parse(text, baseDirectory: "/nonexistent/fuzz", fileName: "fuzz.conf") {
    case .success(let config):
        // A config that loaded is usable: its paths resolve against the base directory.
        _ = config.resolvePath(config.history.path)
    case .failure(let errors):
        precondition(!errors.errors.isEmpty, "ConfigLoader.parse failed without saying why")
        for error in errors.errors {
            precondition(error.code.hasPrefix("config."), "unstable error code '\(error.code)'")
            precondition(error.line <= lineCount + 1, "error \(error) points past the last line (\(lineCount))")
        }
    }
    // The TOML layer alone: its errors point inside the text.
    let (_, syntaxErrors) = TOMLParser.parse(text, fileName: "fuzz.conf")
    for error in syntaxErrors {
        precondition(error.line <= lineCount + 1, "syntax error \(error) points past the last line (\(lineCount))")
    }
    return 0
}
