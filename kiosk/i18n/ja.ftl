# menkai-kiosk：入口のノートパソコンを設定・管理する人への表示。英語は en.ftl、ID は共通。

pair-ok = 「{ $name }」として登録しました。キオスクを始めるには：menkai-kiosk run
pair-invalid-code = 登録コードが違うか、使用済みか、期限切れです。スタッフ用の「端末」ページで新しいコードを作り、もう一度お試しください。
pair-rate-limited = 間違ったコードが続きました。{ $seconds } 秒待ってからお試しください。
pair-not-entrance = ご注意：このコードは入口用ではなく、病棟のタブレット用に作られました。キオスクは動きますが、「入口で」の面会はここには来ません。

err-bad-url = 「{ $url }」はウェブアドレスではありません。Menkai サーバーのアドレス（例：https://visits.example.org）を使ってください。
err-unreachable = { $url } のサーバーにつながりません。アドレス、ケーブルや Wi-Fi、Menkai が動いているかを確認してください。
err-certificate = { $url } のサーバーの証明書をこのパソコンが信頼できないため、接続しませんでした。アドレス（https://…）とサーバーの HTTPS の設定を確認してください。
err-not-menkai = { $url } のサーバーは応答しましたが、Menkai の応答ではありません（{ $status }）。アドレスを確認してください。
err-not-paired = このパソコンはまだ登録されていません。スタッフ用の「端末」ページで入口の端末を追加してから、次を実行してください：menkai-kiosk pair URL コード
err-pairing-file = { $path } に保存した登録情報を読めません（{ $error }）。もう一度登録してください：menkai-kiosk pair URL コード
err-redirect = { $url } のサーバーは、別のアドレス（{ $to }）へ転送する応答を返しました。キオスクは転送に従わないため、転送先には何も送っていません。そのアドレスが正しい場合は、そのアドレスで登録してください：menkai-kiosk pair アドレス コード
err-too-large = { $url } のサーバーから 1 MiB を超える応答が届きました。Menkai サーバーの応答はこれほど大きくならないため、途中で読むのをやめました。アドレスを確認してください。
err-bad-answer = { $url } のサーバーから届いた{ $field }は、キオスクが受け付けない形でした（長すぎる、空である、または使えない文字を含む）。何も保存していません。アドレスを確認し、正しければサーバーの管理者に知らせてください。
err-pairing-field = { $path } に保存した登録情報の{ $field }が正しい形ではありません（ファイルが書き換えられたおそれがあります）。もう一度登録してください：menkai-kiosk pair URL コード
err-pairing-too-large = { $path } に保存した登録情報のファイルが大きすぎます（ファイルが書き換えられたおそれがあります）。もう一度登録してください：menkai-kiosk pair URL コード
err-save = { $path } に保存できません：{ $error }
err-no-browser = Chromium も Google Chrome も見つかりません。Chromium を入れるか、--browser でブラウザーの場所を指定してください。
err-browser-start = ブラウザーが起動しませんでした：{ $error }

field-server = サーバーのアドレス
field-device-token = 端末トークン
field-device-id = 端末 ID
field-device-name = 端末名
field-kind = 端末の種類

run-started = キオスクは { $url } を表示しています
run-restarting = ブラウザーが{ $reason }ため、もう一度起動します（{ $count } 回目）。
run-start-failed = ブラウザーを起動できませんでした（{ $error }）。{ $seconds } 秒後にもう一度試します。
run-removed = この端末は登録を解除されました。スタッフにお声がけください。
run-browser-closed = ブラウザーが閉じられました。
reason-exited = 終了した
reason-crashed = 異常終了した
reason-hung = 応答しなくなった
reason-lost = 制御の接続を失った

doctor-title = Menkai キオスクの点検
doctor-browser = ブラウザー
doctor-camera = カメラ
doctor-microphone = マイク
doctor-server = サーバー
doctor-pairing = 登録
doctor-ok = OK
doctor-problem = 問題あり
doctor-browser-found = { $path }（{ $version }）
doctor-media-works = 使えます（{ $label }）
doctor-media-fake = 使えます（テスト用の仮の機器）
doctor-media-missing = 見つかりません：接続するか、パソコンのプライバシースイッチを確認してください
doctor-media-busy = ありますが、ほかのプログラムが使用中です：そのプログラムを閉じてください
doctor-media-denied = ありますが、システムがブラウザーに使用を許可していません
doctor-media-error = 使えません：{ $error }
doctor-media-unchecked = 確認できません（ブラウザーがありません）
doctor-server-ok = { $url } は応答しています
doctor-server-secure = { $url } は応答しています（信頼できる証明書）
doctor-server-plain = { $url } は HTTPS なしで応答しています：サーバーがこのパソコン上にある場合だけ使えます
doctor-paired = 「{ $name }」（{ $kind }）として登録済み
doctor-removed = この端末はスタッフが登録を解除しました：新しいコードでもう一度登録してください
doctor-token-invalid = 保存した登録はもう使えません：新しいコードでもう一度登録してください
doctor-unchecked = 確認できません（サーバーにつながりません）
doctor-all-ok = すべて準備できています。
doctor-some-problems = 上の問題を直してから、もう一度点検してください。

install-done = このユーザーがログインするたびにキオスクが起動します（{ $unit }、{ $autostart }）。今すぐ始めるには：systemctl --user start menkai-kiosk
install-not-linux = ログイン時の自動起動をこのコマンドで設定できるのは Linux だけです。Windows と ChromeOS は README をご覧ください。
