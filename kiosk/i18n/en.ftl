# menkai-kiosk: what the program says to the person setting up or looking after the
# entrance laptop. Japanese in ja.ftl; the same ids in both.

pair-ok = Paired as “{ $name }”. Start the kiosk with: menkai-kiosk run
pair-invalid-code = The pairing code is wrong, already used or expired. Make a new code on the staff Devices page and try again.
pair-rate-limited = Too many wrong codes. Wait { $seconds } seconds and try again.
pair-not-entrance = Note: this code was made for a ward tablet, not for the entrance. The kiosk will still work, but visits booked “at the entrance” will not come here.

err-bad-url = “{ $url }” is not a web address. Use the address of the Menkai server, for example https://visits.example.org
err-unreachable = Cannot reach the server at { $url }. Check the address, the network cable or Wi-Fi, and that Menkai is running.
err-certificate = The server at { $url } does not show a certificate this computer trusts, so the connection was not made. Check the address (https://…) and the server's HTTPS set-up.
err-not-menkai = The server at { $url } answered, but not as a Menkai server does ({ $status }). Check the address.
err-not-paired = This computer is not paired yet. On the staff Devices page add an entrance device, then run: menkai-kiosk pair URL CODE
err-pairing-file = The saved pairing in { $path } cannot be read ({ $error }). Pair again: menkai-kiosk pair URL CODE
err-redirect = The server at { $url } answered with a redirect to { $to }. The kiosk follows no redirect, so nothing was sent there. If that is the right address, pair with it: menkai-kiosk pair ADDRESS CODE
err-too-large = The server at { $url } sent an answer larger than 1 MiB, far more than a Menkai server ever sends, so the kiosk stopped reading it. Check the address.
err-bad-answer = The server at { $url } sent a { $field } the kiosk does not accept (too long, empty, or with characters that do not belong there), so nothing was saved. Check the address; if it is right, tell whoever looks after the server.
err-pairing-field = The saved pairing in { $path } holds a { $field } the kiosk does not accept; the file may have been changed. Pair again: menkai-kiosk pair URL CODE
err-pairing-too-large = The saved pairing in { $path } is far larger than a pairing can be; the file may have been changed. Pair again: menkai-kiosk pair URL CODE
err-save = Cannot save to { $path }: { $error }
err-no-browser = No Chromium or Google Chrome was found. Install Chromium, or name the browser with --browser PATH.
err-browser-start = The browser did not start: { $error }

field-server = server address
field-device-token = device token
field-device-id = device id
field-device-name = device name
field-kind = device kind

run-started = The kiosk is showing { $url }
run-restarting = The browser { $reason }; starting it again (restart { $count }).
run-start-failed = The browser could not start ({ $error }); trying again in { $seconds } s.
run-removed = This device was removed — please ask staff.
run-browser-closed = The browser was closed.
reason-exited = closed
reason-crashed = crashed
reason-hung = stopped answering
reason-lost = lost its control connection

doctor-title = Menkai kiosk check
doctor-browser = Browser
doctor-camera = Camera
doctor-microphone = Microphone
doctor-server = Server
doctor-pairing = Pairing
doctor-ok = OK
doctor-problem = PROBLEM
doctor-browser-found = { $path } ({ $version })
doctor-media-works = works ({ $label })
doctor-media-fake = works (fake test device)
doctor-media-missing = none found: connect one, or check the laptop's privacy switch
doctor-media-busy = found, but another program is using it: close that program
doctor-media-denied = found, but the system does not allow the browser to use it
doctor-media-error = cannot be used: { $error }
doctor-media-unchecked = not checked (no browser)
doctor-server-ok = { $url } answers
doctor-server-secure = { $url } answers, with a trusted certificate
doctor-server-plain = { $url } answers without HTTPS: only works when the server runs on this computer
doctor-paired = paired as “{ $name }” ({ $kind })
doctor-removed = this device was removed by staff: pair it again with a new code
doctor-token-invalid = the saved pairing is no longer valid: pair again with a new code
doctor-unchecked = not checked (the server cannot be reached)
doctor-all-ok = Everything is ready.
doctor-some-problems = Fix the problems above, then run this check again.

install-done = The kiosk will start at every login of this user ({ $unit }, { $autostart }). Start it now with: systemctl --user start menkai-kiosk
install-not-linux = Starting at login is set up by this command on Linux only. On Windows and ChromeOS see the README.
