import Host
print("sandboxer")
