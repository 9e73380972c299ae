# Menkai — 日本語
# 利用者が読むすべての文字列。en.ftl と同じ ID を保つこと（テストで確認）。

## 枠
skip-to-content = 本文へ移動
nav-label = 職員メニュー
nav-today = 本日
nav-book = 面会の予約
nav-residents = 入居者
nav-devices = 端末
nav-accounts = 職員アカウント
nav-facility = 設定
nav-audit = 履歴
nav-logout = ログアウト
language-switch = 言語
save = 保存する

## 日付
date-long = { $year }年{ $month }{ $day }日（{ $weekday }）
weekday-1 = 月
weekday-2 = 火
weekday-3 = 水
weekday-4 = 木
weekday-5 = 金
weekday-6 = 土
weekday-7 = 日
weekday-long-1 = 月曜日
weekday-long-2 = 火曜日
weekday-long-3 = 水曜日
weekday-long-4 = 木曜日
weekday-long-5 = 金曜日
weekday-long-6 = 土曜日
weekday-long-7 = 日曜日
month-1 = 1月
month-2 = 2月
month-3 = 3月
month-4 = 4月
month-5 = 5月
month-6 = 6月
month-7 = 7月
month-8 = 8月
month-9 = 9月
month-10 = 10月
month-11 = 11月
month-12 = 12月

## エラー
error-title = 問題が起きました
error-status = （エラー { $status }）
error-home = 最初の画面へ戻る
error-not_found = このページは見つかりません。アドレスを確かめるか、最初の画面へ戻ってください。
error-unauthorized = 先にログインしてください。
error-invalid_device_token = この端末は登録されていないか、登録を解除されています。「端末」ページの新しいコードでもう一度登録してください。
error-forbidden = この操作は管理者だけができます。
error-csrf_failed = このフォームの有効期限が切れました。前の画面に戻り、再読み込みしてからもう一度お試しください。
error-invalid_input = 入力内容に直すところがあります。
error-rate_limited = 試行回数が多すぎます。{ $seconds } 秒待ってからもう一度お試しください。
error-busy = ただいま混み合っています。少し待ってからもう一度お試しください。
error-invalid_characters = 見えない文字や使えない文字が含まれています（ほかから貼り付けた文字によくあります）。もう一度入力してください。
error-no_visible_characters = 空白や濁点・アクセント記号だけでなく、文字や数字を入力してください。
error-possible_duplicate = 同じお名前と居室の入居者がすでに一覧にいます。もう一人追加する場合は確認してください（API では "confirm_duplicate": true）。
error-payload_too_large = 送信された内容が大きすぎます。
error-method_not_allowed = このアドレスはその種類の要求を受け付けません。
error-unsupported_media_type = 送信された内容の形式に対応していません。
error-timeout = 要求の処理に時間がかかりすぎました。もう一度お試しください。
error-bad_request = 要求を解釈できませんでした。
error-internal = システム側で問題が起きました。少し待ってからもう一度お試しください。
error-bad_form = フォームを読み取れませんでした。再読み込みしてもう一度お試しください。
error-bad_json = リクエスト本文が正しい JSON ではありません。
error-bad_json_fields = JSON の項目が足りないか、型が違います。
error-json_content_type_required = 本文は JSON で送ってください（Content-Type: application/json）。
error-invalid_pairing_code = 接続コードが違うか、期限が切れています。職員に新しいコードを頼んでください。
error-resident_busy = この時間、入居者にはすでに面会の予定があります（清掃時間を含む）。
error-device_busy = この時間、端末はすでに予約されています（清掃時間を含む）。
error-last_admin = 最後の有効な管理者のため、このアカウントは無効にできません。
error-visit_cancelled = この面会は取り消されています。
error-visit_ended = この面会はすでに終わっています。
error-visit_not_started = この面会はまだ始まっていません。
error-visit_started = この面会はすでに始まっているため、日時を変更できません。
error-required = 入力してください。
error-too_long = 長すぎます。
error-too_many = 項目が多すぎます。
error-invalid_choice = 選択肢から選んでください。
error-invalid_date = 2026-12-01 のように日付を入力してください。
error-invalid_time = 正しい日付と時刻を入力してください。
error-invalid_hours = 各曜日の開始時刻は終了時刻より前にしてください（09:00 のように）。
error-invalid_login = 半角英数字と . _ - @ だけを使ってください。
error-login_taken = このログイン名はすでに使われています。
error-out_of_range = 数値が範囲外です。
error-outside_visiting_hours = 面会時間外です。
error-in_the_past = この時刻はすでに過ぎています。
error-too_far_ahead = 予約は1年先までです。
error-choose_slot = 時間を選んでください。
error-guests_required = ご家族のお名前を少なくとも1人入力してください。
error-too_many_guests = 1回の面会に参加できるご家族（ご家庭）は3つまでです。
error-unknown_resident = この入居者は存在しないか、保管済みです。
error-unknown_device = この端末は存在しません。
error-device_revoked = この端末は無効にされています。
error-wrong_device_kind = 端末の種類が違います（病棟タブレットまたは玄関端末）。
error-unknown_time_zone = 不明なタイムゾーンです。
error-invalid_phone = 数字・空白・+ - ( ) だけで、30文字以内にしてください。
error-password_too_short = パスワードが短すぎます。
error-passwords_differ = 2つのパスワードが一致しません。

## ログインとアカウント
login-title = 職員ログイン
login-name = ログイン名
login-password = パスワード
login-submit = ログイン
login-failed = ログイン名またはパスワードが違います。
login-help = パスワードを忘れた場合は、管理者に新しいアカウント用リンクを頼んでください。
setup-title = アカウントの作成
setup-intro = { $role }として招待されています。ログイン名とパスワードを決めてください。
setup-display-name = 同僚に表示する名前
setup-password-hint = { $count } 文字以上。短い文にすると覚えやすくなります。
setup-password-again = パスワード（確認）
setup-submit = アカウントを作成
role-admin = 管理者
role-staff = 職員
accounts-title = 職員アカウント
accounts-add = 同僚を招待する
accounts-add-submit = アカウント用リンクを作る
accounts-role = 役割
accounts-link = アカウント用リンク
accounts-link-for = { $name } さんのアカウント用リンク
accounts-link-hint = このリンクを本人に渡してください。24時間、1回だけ使えます。
accounts-disabled = 無効
accounts-disable = 無効にする
accounts-enable = 有効にする

## 本日
today-title = 本日の面会
day-title = 面会の予定
today-book = 面会を予約する
today-empty = この日の面会はありません。
today-caption = この日の面会
day-nav = 日付の切り替え
day-prev = 前の日
day-next = 次の日
day-today = 今日
col-time = 時間
col-resident = 入居者
col-mode = 方法
col-guests = ご家族
col-state = 状態
col-actions = 操作
mode-remote = 自宅から
mode-remote-hint = ご家族がスマートフォンやパソコンでリンクを開いて参加します。
mode-entrance = 玄関で
mode-entrance-hint = ご家族が玄関の端末の前に座り、職員がそばにいます。
state-scheduled = 予約済み
state-open = 開始
state-live = 面会中
state-ended = 終了
state-cancelled = 取消

## 予約
book-title = 面会の予約
book-step-who = だれと、どのように
book-step-time = { $date } の時間を選ぶ
book-step-guests = 参加するご家族
book-step-guests-entrance = 玄関に来るご家族（任意）
book-resident = 入居者
book-date = 日付
book-mode = ご家族の参加方法
book-ward-device = 病棟のタブレット
book-kiosk = 玄関の端末
book-choose = — 選んでください —
book-show-slots = 空いている時間を表示
book-choose-first = 入居者とタブレットを選ぶと、空いている時間が表示されます。
book-no-residents = 入居者がまだいません。先に登録してください。
book-no-devices = タブレットがまだありません。管理者が「端末」で登録します。
book-now = 今すぐ（{ $times }）
book-no-slots = この日は空きがありません。別の日をお試しください。
book-slot-length = 面会は1回 { $minutes } 分です。
book-guests-hint = 1ご家庭につき1人のお名前。それぞれに専用のリンクが作られます。3つまで。
book-guests-hint-entrance = 受付でのご案内に使います。リンクは不要です。
book-guest-n = ご家族 { $n }
book-submit = この内容で予約する
book-fix-errors = 印のついた項目を直してください。

## 招待
visit-links-gone = リンクは作った直後に一度だけ表示されます。このページは閉じられたか、時間がたちすぎています。ご家族にもう一度リンクが必要なときは、下で新しいリンクを作ってください（古いリンクは使えなくなります）。
inv-print-entrance = ご家族に渡すカードを印刷（受付での流れ）
inv-title = 面会を予約しました
inv-to-visit = 面会の詳細
inv-booked = 予約しました：{ $resident } さん、{ $when }。
inv-entrance = 玄関での面会です。ご家族は玄関の端末にお越しください。リンクは不要です。
inv-once = 今のうちにリンクを送るか、カードを印刷してください。安全のため、リンクはこの画面でしか表示されません。なくした場合は、面会の詳細から新しいリンクを作れます。
inv-for = { $guest } さん用のリンク
inv-qr-alt = { $guest } さん用の面会リンクの QR コード
inv-link = 面会リンク
inv-copy = リンクをコピー
inv-copied = コピーしました ✓
inv-print = カードを印刷
inv-calendar = カレンダーに追加
inv-message = 送信用メッセージ（LINE・メール・SMS）
inv-copy-ja = 日本語のメッセージをコピー
inv-copy-en = 英語のメッセージをコピー
invite-title = { $resident } さんとのオンライン面会
invite-message =
    { $guest } 様
    { $facility } の { $resident } さんとのオンライン面会を、{ $date } { $start }〜{ $end } に予約しました。
    その時間になったら、スマートフォンかパソコンで次のリンクを開いてください。アプリのインストールは不要です。
    { $url }
    リンクは開始15分前から使えます。ほかの方には教えないでください。
ics-description = 面会の時間に、このリンクを開いてください：{ $url }

## 面会の詳細
visit-title = 面会の詳細
visit-when = 日時
visit-time = 開始時刻
visit-duration = 時間（分）
visit-new-link = 新しいリンク
visit-new-link-hint = 「新しいリンク」を押すと、その方用の新しいリンクが作られ、古いリンクは使えなくなります。
visit-reschedule = 日時を変更する
visit-reschedule-hint = ご家族のリンクはそのまま使えます。
visit-reschedule-submit = 日時を変更
visit-cancel = この面会を取り消す
visit-cancel-hint = この面会のリンクはすべて使えなくなり、取り消されたことが表示されます。
visit-cancel-submit = 面会を取り消す
link-active = リンク有効
link-revoked = リンク無効
link-none = リンクなし（玄関）

## 入居者
residents-title = 入居者
residents-add = 入居者を追加
residents-duplicate = { $name }（{ $room }）はすでに一覧にいます。同じ名前と部屋の入居者をもう一人追加しますか？
residents-add-anyway = それでも追加する
residents-add-cancel = 追加しない
residents-add-submit = 追加
residents-name = お名前
residents-room = 居室・ユニット
residents-privacy = お名前と居室だけを入力します。医療情報は入力しないでください。
residents-empty = 入居者はまだいません。
residents-archived = 保管済み
residents-edit = 編集
residents-book = 予約
residents-edit-title = 入居者の編集
residents-archive = 保管する
residents-archive-hint = 保管した入居者は履歴に残り、予約できなくなります。
residents-restore = 元に戻す
resident-with-room = { $name }（{ $room }）

## 端末
devices-title = 端末
devices-add = 端末を追加
devices-add-submit = 追加して接続コードを表示
devices-name = 名前
devices-name-example = 例：2階東 タブレット
devices-kind = 種類
kind-ward = 病棟タブレット
kind-entrance = 玄関端末
devices-empty = 端末はまだありません。
devices-last-seen = 最終接続
devices-never-seen = まだ接続なし
devices-new-code = 新しい接続コード
devices-revoke = 無効にする
devices-code-for = { $device } の接続コード
devices-code-how = 端末で { $url } を開き、このコードを入力してください。{ $time } まで、1回だけ使えます。
device-awaiting_pairing = 接続待ち
device-pairing_expired = コード期限切れ
device-paired = 接続済み
device-revoked = 無効

## 設定
facility-title = 設定
facility-name = 施設名
facility-phone = ご家族向けの電話番号
facility-phone-hint = ご家族の画面と印刷カードに表示されます。任意。
facility-time-zone = タイムゾーン
facility-language = 標準の言語
facility-slot = 面会の長さ（分）
facility-buffer = 清掃時間（分）
facility-buffer-hint = 同じ端末・同じ入居者の面会と面会の間に空ける時間です。
facility-hours = 面会時間
facility-day = 曜日
facility-open = 面会可
facility-from = 開始
facility-to = 終了
facility-open-on = { $day } 面会可
facility-from-on = { $day } 開始
facility-to-on = { $day } 終了

## 履歴
audit-title = 履歴
audit-empty = まだ記録はありません。
audit-when = 日時
audit-who = 担当
audit-what = 内容
audit-detail = 詳細
audit-visit_booked = 面会を予約
audit-visit_rescheduled = 面会の日時を変更
audit-visit_cancelled = 面会を取消
audit-visit_extended = 面会を延長
audit-visit_ended = 面会を終了
audit-link_reissued = 新しいリンクを作成
audit-resident_added = 入居者を追加
audit-resident_changed = 入居者を変更
audit-resident_archived = 入居者を保管
audit-resident_restored = 入居者を元に戻す
audit-device_added = 端末を追加
audit-device_code_renewed = 新しい接続コード
audit-device_paired = 端末を接続
audit-device_revoked = 端末を無効化
audit-device_volume = 音量を変更
audit-staff_invited = 職員を招待
audit-staff_account_created = アカウントを作成
audit-staff_disabled = アカウントを無効化
audit-staff_enabled = アカウントを有効化
audit-api_token_created = API トークンを作成
audit-facility_changed = 設定を変更
actor-first-start = Menkai（初回起動）
actor-command-line = 管理者（コマンド）
actor-device = 端末

## ご家族向け面会リンク
join-page-title = オンライン面会
join-hello = { $guest } 様
join-with = { $resident } さんとのオンライン面会
join-too-early = まだ時間ではありません。当日 { $time } からこのページが開きます。
join-keep-link = このリンクは保存しておき、面会の少し前にもう一度開いてください。
join-waiting = まもなく面会が始まります。このままお待ちください。
join-waiting-help = 時間になると自動でつながります。カメラとマイクの使用を求められたら「許可」を押してください。
join-open = 面会が始まりました。
join-open-help = このページに通話画面が開きます。表示されないときは、下のボタンを押してください。
join-reload = 通話画面を開く
join-phone = お問い合わせ：{ $facility }
join-unknown-title = このリンクは使えません
join-unknown-body = アドレスが途中で切れている可能性があります。届いたリンクをそのまま開いてください。
join-cancelled-title = この面会は取り消されました
join-cancelled-body = { $date }の{ $resident } さんとの面会は取り消されました。
join-ended-title = この面会は終了しました
join-ended-body = { $resident } さんとの面会、ありがとうございました。
join-replaced-title = このリンクは新しくなりました
join-elsewhere-title = 別の端末からこの面会に参加しました
join-replaced-body = 施設から、この面会用の新しいリンクが届いています。そちらをお使いください。
join-contact = ご不明な点は、このリンクを送った施設へお問い合わせください。
join-contact-next = 次の面会のご予約は、施設へお問い合わせください。
countdown-days = 日
countdown-hours = 時間
countdown-minutes = 分
countdown-soon = まもなく始まります
countdown-prefix = 開始まで あと

## 印刷カード
card-print = このカードを印刷
card-qr-alt = オンライン面会の QR コード
card-entrance-place = { $facility } の入口で
card-entrance-step-1 = 上の時間の数分前に受付へお越しください。
card-entrance-step-2 = 「オンライン面会です」と受付にお伝えください。画面の前にご案内します。
card-entrance-step-3 = 面会は自動で始まります。操作は何もいりません。
ics-entrance-description = { $facility } の入口でのオンライン面会です。数分前に受付へお越しになり、「オンライン面会です」とお伝えください。面会は自動で始まります。
card-step-1 = スマートフォンのカメラを QR コードに向けます。
card-step-2 = 上の時間になったら、表示されたリンクを押します。
card-step-3 = カメラとマイクを「許可」すると、お互いの顔が見えます。
card-contact = お問い合わせ：{ $facility }

## シグナリングのエラー（error フレームの message）
ws-invalid_token = このリンクまたは端末トークンは無効です。
ws-link_expired = この面会は終了しました。リンクは使えません。
ws-link_replaced = このリンクは新しいリンクに置き換えられました。
ws-visit_cancelled = この面会は取り消されました。
ws-too_early = まだ早すぎます。リンクは面会の15分前から使えます。このままお待ちください。
ws-visit_full = この面会の参加者数は上限に達しています。
ws-bad_message = メッセージを理解できませんでした。
ws-message_too_large = メッセージが 64 KiB を超えています。
ws-rate_limited = メッセージが多すぎるため、一部を破棄しました。
ws-unknown_peer = この面会にその参加者はいません。
ws-device_revoked = この端末はスタッフによって登録を解除されました。
ws-joined_elsewhere = このリンクは別の端末で開かれ、そちらが参加しています。
ws-internal = サーバーで問題が起きました。

## 通話
join-connecting = 接続しています…
call-label = ビデオ通話
call-alone = ほかの方の参加を待っています…
call-self = あなたの映像
call-mic-on = マイク オン
call-mic-off = マイク オフ
call-cam-on = カメラ オン
call-cam-off = カメラ オフ
call-leave = 退出する
call-quality-good = 接続：良好
call-quality-fair = 接続：やや不安定
call-quality-poor = 接続：不安定
call-notice-5 = 残り5分です。そろそろお別れの準備をしましょう。
call-notice-1 = 残り1分です。
call-entrance-family = 入口のご家族
call-relayed = 中継経由
call-video-paused = 映像が止まっています — 音声は続いています
call-reconnecting = 再接続しています… 通話は続いています。
call-tap-for-sound = ここを押すと音が出ます
call-ended-title = 面会は終了しました
call-left-title = 面会から退出しました
call-rejoin = もう一度参加する
call-full = この面会の参加者数は上限に達しています。
media-denied = カメラとマイクがブロックされています。アドレス欄の鍵または「ぁあ」の印を押し、カメラとマイクを許可してから、このページを再読み込みしてください。ご家族の映像と音声はこのままでも見聞きできます。
media-no-camera = カメラが見つかりません。音声だけで参加します。ご家族の映像は見られます。
media-no-devices = カメラもマイクも見つかりません。ご家族の映像と音声は見聞きできます。
media-insecure = カメラとマイクを使うには、https:// のアドレスでこのページを開いてください。

## 端末
device-title = オンライン面会
device-next-visits = 本日の面会
device-no-visits = 本日の面会はもうありません。
device-connecting = 接続しています…
device-unpaired = この端末はまだ設定されていません
device-unpaired-help = 職員が「端末」ページの接続コードで一度だけ設定します。
device-cleaning-title = 画面をふいてください
device-cleaning-body = ありがとうございました。次の方のために、画面・キーボード・いすをふいてください。
device-sound-unlock = 一度押すと音が出ます
device-sound-unlock-help = ブラウザーは一度画面を押すまで音を出しません。電源を入れた後に一度だけ必要です。
pair-title = この端末を設定する
pair-intro = 職員用「端末」ページに表示された8けたのコードを入力してください。
pair-code = 接続コード
pair-submit = 設定する
pair-wait = 間違ったコードが多すぎます。1分ほど待ってからもう一度お試しください。
pair-network = サーバーに接続できません。ネットワークを確かめてもう一度お試しください。

## 職員：面会の様子
live-connected = 接続中：{ $names }
live-nobody = まだだれも接続していません
live-extend = 10分延長
live-extend-room = あと { $minutes } 分まで空いています
live-extend-none = 延長できません：次の面会が続きます
notice-end-conflict = 何も変更していません：面会はすでに終わっています（またはまだ始まっていません）。
notice-cancel-conflict = 面会を取り消せませんでした：すでに終わっているか、取り消し済みです。何も変更していません。
notice-extend-conflict = 延長しませんでした：その時間はほかの面会が入りました。何も変更していません。
live-relayed = 中継サーバー経由（途中のネットワークが直接の接続を通しません）
live-end = 今すぐ終了
devices-volume = 音量
devices-volume-set = 設定
devices-volume-offline = 音量を保存しました。端末は今は接続されていないため、次に接続したときに反映されます。
devices-volume-set-now = 音量を設定しました。端末にすぐ反映されます。
devices-volume-quieter = { $percent }%（小さめ）
devices-volume-normal = { $percent }%（標準）
devices-volume-louder = { $percent }%（大きめ）
devices-now = 現在
devices-online = 接続中
devices-offline = 未接続
health-camera-ok = カメラ OK
health-microphone-ok = マイク OK
health-battery = 電池 { $percent }%
health-battery-charging = 電池 { $percent }%（充電中）
health-offline = 接続されていません。電源と Wi-Fi を確認してください
health-no-camera = 使えるカメラがありません
health-no-microphone = 使えるマイクがありません
health-low-battery = 電池が少なく、充電されていません。充電してください
health-kiosk-uptime = キオスク稼働 { $hours } 時間
health-kiosk-restarts = ブラウザー再起動 { $count } 回（キオスクプログラムによる）
today-warning-title = 次の面会の前に確認してください
today-device-warning = { $device }：{ $problem }
device-removed-title = この端末は登録を解除されました
device-removed-body = スタッフがこの端末を Menkai から外したため、面会には参加しません。スタッフにお声がけください。
confirm-keep = 戻る
confirm-end = { $resident } さんの面会を今すぐ終了しますか？通話中の全員が切断されます。
confirm-cancel = { $time } の { $resident } さんの面会を取り消しますか？ご家族のリンクは使えなくなります。
confirm-revoke = { $device } を無効にしますか？面会に参加しなくなり、使うにはもう一度設定が必要です。
confirm-archive = { $resident } さんをアーカイブしますか？今後は面会を予約できなくなります。
inv-reissued-title = 新しいリンク
inv-reissued = { $resident } さんの面会（{ $when }）の新しいリンクです。古いリンクは使えなくなりました。こちらを送ってください。
call-peer-reconnecting = 再接続中…
device-warn-insecure = このタブレットはカメラとマイクを使えません。安全な（https:// の）アドレスで開かれていません。職員の方へ：https:// で始まる Menkai のアドレスを開いてください。
device-warn-denied = このタブレットはカメラとマイクの使用が許可されていません。職員の方へ：ブラウザーの設定で、このページのカメラとマイクを許可してください。
device-warn-missing = このタブレットには使えるカメラまたはマイクがありません。職員の方へ：接続されていて、ほかのアプリが使っていないか確認してください。
call-mic-none = マイクなし
call-cam-none = カメラなし
call-no-picture-device = タブレットの映像が届いていません（使えるカメラがありません）。職員に伝わっています。お話はできます。
call-no-picture-guest = { "{" }name{ "}" } さんはカメラがありません。声は聞こえます。
call-no-media-device = タブレットの映像と音声が届いていません（使えるカメラとマイクがありません）。職員に伝わっています。
call-no-media-guest = { "{" }name{ "}" } さんはカメラとマイクがありません。

# Staff pages: notices shown on every page
saved = 保存しました。
address-warning = ここで作るリンクはこのパソコンでしか開けません。サーバーのアドレスが 127.0.0.1 や localhost のため、ご家族やタブレットからは届きません。
address-warning-link = 直し方
deploy-guide-title = Menkai をインターネットに公開する
first-steps-title = はじめの設定
first-steps-settings = 設定：施設名、タイムゾーン、面会時間、面会の長さ
first-steps-devices = 端末：病棟のタブレットと入口のキオスクを追加し、それぞれ登録する
first-steps-residents = 入居者：名前と部屋を追加する
first-steps-book = 最初の面会を予約する
first-steps-done = 完了

## When the browser cannot make video calls, or the page stopped on an error
## (templates/browser_trouble.html, static/js/guard.js)
browser-unsupported-title = このブラウザーではビデオ通話ができません
browser-unsupported-body = 同じリンクを、次のどれかのブラウザーで開いてください。
browser-unsupported-body-device = この端末で面会に参加するには、次のどれかのブラウザーが必要です。
browser-works-iphone = iPhone・iPad：Safari（iOS 15 以降）
browser-works-android = Android：Chrome
browser-works-computer = パソコン：Chrome、Edge、Firefox、Safari
browser-unsupported-update = すでにお使いの場合は、最新の版に更新してください。LINE・Facebook・メールなどのアプリの中で開いたページでは通話できないことがあります。ブラウザーそのもので開いてください。
browser-unsupported-missing = 施設の職員の方へ — 足りない機能：
browser-crashed-title = 問題が起きました
browser-crashed-body = このページが止まりました。ページを読み込み直すと続けられます。面会はそのまま続いています。
browser-crashed-reload = ページを読み込み直す

## The ward tablet added to a home screen (/device.webmanifest)
manifest-name = { $facility } オンライン面会
