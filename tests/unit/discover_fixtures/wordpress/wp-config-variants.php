<?php
// Hand-edited: double quotes, no spaces, mixed case define, an expression, a concatenation.
define("DB_NAME","blog");
DEFINE ('DB_USER' ,  "blog_rw") ;
define('DB_PASSWORD', "it's \"quoted\" and secret");
define('DB_HOST', getenv('BLOG_DB_HOST'));
define( 'WP_CONTENT_DIR', dirname( __FILE__ ) . '/content' );
define('WP_HOME', "https://blog.example.org");
define('WP_SITEURL', 'https://blog.example.org/wp');
define('MULTISITE', true);
$table_prefix  =  "blog_" ;
require_once(ABSPATH . 'wp-settings.php');
