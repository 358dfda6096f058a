fn main() {
    println!("passkeys {}", passkeys_core::version());
}
