/// Masks personal and enterprise identifiers for logs and bulk listings.
public enum Mask {
    /// `138****1234`: first 3 and last 4 digits of a mobile number.
    public static func mobile(_ number: String) -> String {
        keep(number, prefix: 3, suffix: 4, stars: 4)
    }

    /// First 4 and last 4 characters of an openid around `****`.
    public static func openID(_ openID: String) -> String {
        keep(openID, prefix: 4, suffix: 4, stars: 4)
    }

    /// First 6 and last 4 characters of a credit code around `********`.
    public static func creditCode(_ code: String) -> String {
        keep(code, prefix: 6, suffix: 4, stars: 8)
    }

    /// A value too short to hide anything between its ends is masked whole.
    private static func keep(_ text: String, prefix: Int, suffix: Int, stars: Int) -> String {
        let characters = Array(text)
        let mask = String(repeating: "*", count: stars)
        guard characters.count > prefix + suffix else { return mask }
        return String(characters.prefix(prefix)) + mask + String(characters.suffix(suffix))
    }
}
